"""The sandbox's HTTP admin API under /sandbox/: state, log, clock, chaos, faults and simulated client actions."""
