"""sync.onboarding"""
