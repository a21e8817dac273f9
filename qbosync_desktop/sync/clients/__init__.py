"""sync.clients"""
