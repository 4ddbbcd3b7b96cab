"""Tests for locales: catalogs, plural forms, CLDR formatting, negotiation and localized notifications."""
