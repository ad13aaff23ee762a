"""`flask catalog ...`: the catalog's Redis side from the shell."""

import click
from flask.cli import AppGroup

from shop.catalog import cache

catalog_cli = AppGroup("catalog", help="Catalog caches and indexes.")


@catalog_cli.command("rebuild-cache")
def rebuild_cache() -> None:
    """Drop every cached catalog read and rebuild each product's set of selling stores from the database."""
    count = cache.rebuild_all()
    click.echo(f"catalog cache turned over; store sets rebuilt for {count} products")
