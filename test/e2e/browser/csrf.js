const params = new URLSearchParams(location.search);
const form = document.getElementById('f');
form.action = `${params.get('api')}/auth/login`;
form.login.value = params.get('login');
form.password.value = params.get('password');
form.submit();
