"""Tidemark: SQL-file schema migrations for PostgreSQL and Supabase."""

__version__ = "0.1.0"
