"""store.models"""
