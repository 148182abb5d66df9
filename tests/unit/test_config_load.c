/* tests/unit/test_config_load.c — placeholder */
int main(void) { return 0; }
