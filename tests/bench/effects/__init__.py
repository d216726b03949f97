"""The change benchmark's follower-side app: when each remote change took effect here."""
