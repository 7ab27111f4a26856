"""Measuring spatial reasoning: benchmark items, the authors' scoring rules, the benchmark generator, tables."""
