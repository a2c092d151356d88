"""Helpers every app uses and that hold no rule of their own: admin base classes, edit-form versions,
confirmations, dates, form bounds, keyset pages, CSV exports, request-level protections, database
roles and triggers. Domain rules live in the app that owns them."""
