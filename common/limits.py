"""The input limits of the services, written once.

auth_svc and chat_svc enforce them (with their own messages); the gateway states them in its OpenAPI
document (edge_gateway/rules.py), so generated clients and fuzzers agree with the services.
"""

from __future__ import annotations

# auth_svc
USERNAME_MIN, USERNAME_MAX = 3, 32
MENTION_ROOM = "room"  # `@room` mentions everyone in a room, so nobody may register that username
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_MAX = 64
BATCH_USERS_MAX = 500  # users per BatchGetUsers / GET /users
# The gateway names the client's address to auth_svc in this call metadata (Login),
# with its service token beside it; auth_svc keys its sign-in throttle on it only from a service (anyone
# else is keyed on the address it calls from, so a direct caller cannot pick a fresh address per try).
CLIENT_ADDRESS_KEY = "parley-client-address"
CLIENT_ADDRESS_MAX = 64  # characters of it that are kept (an IPv6 address is at most 45)

# chat_svc
ROOM_NAME_MAX = 80
TOPIC_MAX = 250
CLIENT_MSG_ID_MAX = 64
PAGE_DEFAULT, PAGE_MAX = 50, 200
MEMBERS_PAGE_DEFAULT, MEMBERS_PAGE_MAX = 200, 1000
INVITES_MAX = 100  # members named when a room is created
ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX = 200, 500  # ListMyRooms / GET /rooms
BLOCKS_MAX = 1000  # users one user may block
# Mention counts stop here ("100" reads "100 or more"): each costs at most this many index entries,
# however far behind the marker is (docs/performance.md, "History-independent cost").
COUNT_MAX = 100
MESSAGE_CHARS_DEFAULT = 4000  # CHAT_MAX_MESSAGE_CHARS' default

# conversations (docs/conversations.md)
REACTION_EMOJI_MAX = 20  # distinct emoji on one message
REACTION_USERS_SHOWN = 10  # user ids each reaction aggregate lists
EMOJI_CHARS_MAX = 16  # code points of one emoji (flags, skin tones and ZWJ sequences included)
THREAD_PARTICIPANTS_SHOWN = 5  # user ids a thread summary lists
MENTIONS_MAX = 50  # distinct @usernames recognised in one message; more are left as text

# files (docs/search-and-files.md)
FILES_PER_MESSAGE = 10  # files one message attaches
FILE_NAME_MAX = 255  # characters of a file's name
FILE_ID_CHARS = 22  # a file id: secrets.token_urlsafe(16)
UPLOAD_LIMIT_KEY = "parley-upload-max-bytes"  # UploadFile's go-ahead (initial metadata): the size limit in bytes
# search (docs/search-and-files.md)
SEARCH_QUERY_MAX = 200  # characters of a SearchMessages query
SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX = 20, 50
