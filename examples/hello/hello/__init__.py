"""Hello: the smallest useful Mattermost plugin in Python."""
