/* tests/unit/test_auth_tokens.c — placeholder */
int main(void) { return 0; }
