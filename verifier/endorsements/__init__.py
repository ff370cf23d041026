"""Endorsements: pinned trust anchors, certificate paths, revocation, and the collateral fetchers."""
