"""The command line: one module a command (mnist, sample, evaluate), dispatched by main.py."""
