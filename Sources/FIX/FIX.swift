// FIX 4.4 tag=value codec and session state machine.
