"""Paper tickets: ESC/POS rendering, printer connections, and the print spooler that keeps them off the request path."""
