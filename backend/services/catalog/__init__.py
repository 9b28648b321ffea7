"""The catalog capability: listing and finding products, merchants' product edits."""
