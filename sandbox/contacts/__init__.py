"""客户联系 in the sandbox: directory reads, external contacts, corp tags, customer groups and welcome messages."""
