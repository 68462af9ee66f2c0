"""An issue's verbs in one place: plan and start it, hand its rows out to the workers, send it here and now,
build one subscriber's digest of it (for sending, previews, test sends, the browser view and the archive).

    digests      one subscriber's digest of an issue (digest_for) and what an issue's copies share
    skips        why a subscriber gets no message (Skip), for sending and previews alike
    rows         a batch's queued rows, read in two queries
    building     a row's message, or why it gets none
    sender       the Sender: claim, commit and SMTP overlapped, one batch over one transport
    batches      send_batch (one batch) and send_pending (every due row, in this process)
    handout      hand_out: due rows to the broker (tick, `digest send`, "send now", a finished batch)
    worker_batch run_batch: a worker's task
    plan         plan and start an issue by hand; what its ledger says afterwards
    now          the console's "send now"
    preview      what a subscriber would get, and why
    testsend     a test copy to any address
"""
