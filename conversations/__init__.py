"""The USSD and SMS conversation engine: sessions, screens, flows and paging. No Flask, no SQL."""
