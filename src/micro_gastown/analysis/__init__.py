"""The Log Analyzer pipeline: source → events → attribution → detectors → PatternReport."""
