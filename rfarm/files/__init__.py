"""Files: hashing, manifests, the client and farm halves of uploads and downloads, node workspaces."""
