"""Outside work tied to the database transaction: after_commit waits for the outermost commit, and
on_rollback undoes what a transaction did outside when it does not commit."""

from shop.extensions import db
from shop.transactions import after_commit, on_rollback


def test_after_commit_work_waits_for_the_outermost_commit_not_a_savepoint(app):
    ran = []
    with app.app_context():
        after_commit(lambda: ran.append("published"))
        with db.session.begin_nested():  # a savepoint released inside the transaction
            pass
        assert ran == []
        db.session.rollback()
        assert ran == []
        after_commit(lambda: ran.append("published"))
        with db.session.begin_nested():
            pass
        db.session.commit()
        assert ran == ["published"]


def test_on_rollback_undoes_on_rollback_and_on_an_uncommitted_close_only(app):
    undone = []
    with app.app_context():
        on_rollback(lambda: undone.append("rolled back"))
        with db.session.begin_nested():
            pass
        assert undone == []  # a savepoint's release is not the end
        db.session.rollback()
        assert undone == ["rolled back"]
        on_rollback(lambda: undone.append("committed"))
        db.session.commit()
        db.session.rollback()  # nothing left to undo from the committed transaction
        assert undone == ["rolled back"]
        on_rollback(lambda: undone.append("closed"))
        db.session.remove()
    assert undone == ["rolled back", "closed"]
