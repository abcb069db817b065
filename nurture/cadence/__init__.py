"""cadence"""
