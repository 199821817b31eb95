// Package telegram is the scheduler's Telegram client: a long-lived MTProto
// connection (gotd/td) that jobs send through while it runs.
//
// A Client logs in as a bot (bot token) or with a user session made by
// Login, stays connected while Run runs, and gives up (ErrDisconnected)
// only after an outage longer than its budget. Every call goes through one
// middleware that
//
//   - waits out FLOOD_WAIT and SLOWMODE_WAIT answers (per chat for sends)
//     up to a cap,
//   - paces posts with token buckets: overall, and per private chat or
//     group/channel (Telegram's published limits by default),
//   - retries calls lost to a dropped connection with the identical
//     request, so a send's random_id (see RandomID) makes it post once.
//
// Stats reports whether the client is connected and counts sends, errors,
// flood waits and calls, for metrics and health checks.
//
// Chats are resolved once (username → ID and access hash) and the answers
// are kept beside the session, so a restart resolves nothing again.
//
// The session file holds the account's auth key: it is written atomically
// with mode 0600 and never logged; errors never contain the bot token or
// the app hash.
package telegram
