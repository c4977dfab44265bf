"""Warehouse runtime: where the database is, its raw schema, the embedded server."""
