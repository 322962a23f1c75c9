"""Helpers shared by Orchard's integration tests: starting servers, raw signed
requests, and looking at what the fs providers hold on disk."""
