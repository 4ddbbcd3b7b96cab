"""Scheduled jobs: which runs belong to which schedule (matching), and when a schedule missed a run or broke."""
