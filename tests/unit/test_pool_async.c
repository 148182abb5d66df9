/* tests/unit/test_pool_async.c — placeholder */
int main(void) { return 0; }
