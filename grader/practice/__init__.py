"""The practice loop and its scale: watch mode, experiments, cohort reports and their exports."""
