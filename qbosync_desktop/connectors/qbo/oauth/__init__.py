"""connectors.qbo.oauth"""
