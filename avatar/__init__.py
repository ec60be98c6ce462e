"""Avatar pose model, tracking and codecs.

Face tracking, the pose codec and voice lip-sync arrive with the issue "Faces drive
avatars"; an avatar's look (colours, hair, accessory) is plain room data and lives in
``rooms.appearance``.
"""
