"""One module per CLI command group; each exports COMMANDS."""
