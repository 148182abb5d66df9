/* tests/unit/test_migrate.c — placeholder */
int main(void) { return 0; }
