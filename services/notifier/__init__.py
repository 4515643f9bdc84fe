"""The reference notification sender: renders citizen notifications and delivers them to a file."""
