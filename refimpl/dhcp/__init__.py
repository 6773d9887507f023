"""dhcp."""
