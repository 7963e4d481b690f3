"""Access: the licence register and market-access decisions."""
