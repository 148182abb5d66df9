/* tests/unit/test_auth.c — placeholder */
int main(void) { return 0; }
