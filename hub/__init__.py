"""Shared core of the approval data-sharing hub: settings, storage, identifiers, command line."""
