"""Welcome Bot: greets new team members (a Python port of mattermost-plugin-welcomebot)."""
