"""Scanning an app's source tree and git history (`connectguard scan-repo`): committed secrets,
vulnerable dependencies in lockfiles, and code that collects Atlassian credentials."""
