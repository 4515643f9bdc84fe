"""The consumer runtime the projection and the notifier share."""
