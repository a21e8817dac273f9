"""sync.rules"""
