"""Training ViLaSR's three stages (cold-start SFT, reflective rejection sampling, GRPO) on our own data."""
