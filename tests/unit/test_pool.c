/* tests/unit/test_pool.c — placeholder */
int main(void) { return 0; }
