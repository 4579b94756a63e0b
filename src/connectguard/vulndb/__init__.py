"""Local copies of vulnerability data (OSV advisories, client-side library signatures) and the
`connectguard db update` code that refreshes them."""
