/* tests/unit/test_query.c — placeholder */
int main(void) { return 0; }
