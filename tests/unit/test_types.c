/* tests/unit/test_types.c — placeholder */
int main(void) { return 0; }
