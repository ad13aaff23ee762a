from shop.errors import ErrorCode


class StaffError(ErrorCode):
    LOGIN_FAILED = ("staff_login_failed", 401)
    LOGIN_LOCKED = ("staff_login_locked", 429)
    USERNAME_TAKEN = ("staff_username_taken", 409)
    STAFF_NOT_FOUND = ("staff_not_found", 404)
    PASSWORD_WEAK = ("staff_password_weak", 422)
    CURRENT_PASSWORD_WRONG = ("staff_current_password_wrong", 403)
    PASSWORD_CHANGE_REQUIRED = ("staff_password_change_required", 403)
    LAST_ADMIN = ("staff_last_admin", 409)
