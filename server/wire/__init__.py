"""What goes on the wire: NaN-safe JSON, the socket messages, the one event encoder, the REST trace document."""
