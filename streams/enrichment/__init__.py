"""What the platform adds to an accepted submission: districts and priority."""
